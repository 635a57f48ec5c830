// Addresses inside the page. Everything is a hash route, so the browser's back button and a
// copied address both work, and nothing in an address ever reaches the server.

export const messageHref = (guid) => `#/messages/${encodeURIComponent(guid)}`;

/** A refused push (no GUID, or a GUID it did not own) opens as its own row; the rest by GUID. */
export const hrefOf = (m) => (m.guid && m.status !== 'rejected' ? messageHref(m.guid) : `#/message-id/${encodeURIComponent(m.id)}`);

export function openMessage(m) {
  window.location.hash = hrefOf(m);
}
