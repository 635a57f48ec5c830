// The signed-in administrator. The token lives in sessionStorage (gone when the tab closes, never
// in a cookie or a URL) and leaves the browser only in the Authorization header.
import { createStore } from './state.js';

const TOKEN_KEY = 'gcp-bridge-admin-token';

/**
 * `status`: 'checking' while a token from earlier in this tab is verified, then 'in' or 'out'.
 * `notice` is what the sign-in form says on arrival (signed out, session expired).
 * `sandbox` stays null until the server has said.
 */
export const session = createStore({
  status: sessionStorage.getItem(TOKEN_KEY) ? 'checking' : 'out',
  token: sessionStorage.getItem(TOKEN_KEY),
  actor: '',
  sandbox: null,
  // From whoami on newer bridges: whether /wechat/callback is enabled, and how pushes are delivered
  // (custom | template | auto | sandbox). Null when the server did not say.
  callback: null,
  delivery: null,
  notice: '',
});

export const currentToken = () => session.get().token;

/** `who` is the whoami answer, or null when the server could not be asked. */
export function signIn(token, who) {
  sessionStorage.setItem(TOKEN_KEY, token);
  session.set({
    status: 'in',
    token,
    actor: (who && who.actor) || '',
    sandbox: who ? who.sandbox === true : null,
    callback: who && typeof who.callback === 'boolean' ? who.callback : null,
    delivery: who && typeof who.delivery === 'string' ? who.delivery : null,
    notice: '',
  });
}

export function signOut(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.set({ status: 'out', token: null, actor: '', sandbox: null, callback: null, delivery: null, notice: notice || '' });
}

export function setSandbox(sandbox) {
  if (typeof sandbox === 'boolean' && session.get().sandbox !== sandbox) session.set((s) => ({ ...s, sandbox }));
}
