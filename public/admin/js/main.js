// Entry point of the admin page (loaded by index.html as a module; no build step).
import { html, render } from '../vendor/htm-preact.js';
import { SESSION_EXPIRED, errorText, get, isStatus } from './api.js';
import { App } from './app.js';
import { currentToken, session, signIn, signOut } from './session.js';
import { toast } from './ui.js';

render(html`<${App} />`, document.getElementById('app'));

// A token from earlier in this tab (a reload): check it is still good before showing anything.
if (session.get().status === 'checking') {
  const token = currentToken();
  get('/whoami', { login: true }).then(
    (who) => signIn(token, who),
    (err) => {
      if (isStatus(err, 401)) {
        signOut(SESSION_EXPIRED);
        return;
      }
      // Server unreachable or whoami missing: show the page anyway; each view reports its own errors.
      signIn(token, null);
      toast(`无法验证登录状态：${errorText(err)}`, 'error');
    },
  );
}
