// The shapes that travel along the push path, in the order they appear:
// receive → unwrap envelope → read approval → record → look up → format → deliver → acknowledge.
// Row types of the tables are declared here once and used by their table files in src/db/.
//
// Glossary
//   GUID            the message id the ERP gives a push (the payload root's <id extension>); one
//                   approval event, however often it is pushed.
//   push            one HTTP request to /push. Several pushes may carry one GUID (the ERP re-sends).
//   claim           the right to process a GUID now, taken in Postgres with one INSERT … ON CONFLICT;
//                   exactly one push (on any replica) holds it at a time.
//   lease           a claim's expiry (`lease_until`, 30 s): a claim whose process died lapses and
//                   the GUID may be claimed again.
//   claim token     a random id per claim: an outcome is written only to its own claim, once.
//   part            one WeChat message of a text longer than 2048 bytes (at most WECHAT_MAX_PARTS).
//   outcome         how a push ended: one per row of the reason table (src/outcomes.ts); the ack
//                   (AA/AE + reason) follows from it.
//   unknown outcome WeChat may or may not have the text (a timeout, a connection lost after
//                   sending, a process killed mid-delivery): AE to the ERP, offered for resend.
//   sandbox         mode without WeChat credentials: everything runs, nothing is sent, AA says so.
//   refused push    a push that never owned its GUID (unreadable, conflicting content): kept as a
//                   `rejected` row, answered AE.
//   window          WeChat delivers customer-service text only within 48 hours after the employee
//                   last interacted with the Official Account; outside it, a template message.
//   channel         a way to reach an employee: `custom` (customer-service text) or `template`.
//   invitation      a single-use code and QR scene that lets an employee bind their own WeChat.
//   binding         unbound (no openid), invited (an open invitation), bound, unfollowed (the
//                   openid stopped following the account; kept, in case it follows again).

/** How the push reached us; decides how the ack is wrapped. */
export type EnvelopeKind = 'soap11' | 'soap12' | 'form' | 'raw';

/** What the envelope reader found, before any payload parsing. */
export interface Envelope {
  kind: EnvelopeKind;
  /** Service code: SOAP `action`/`input1`, or the form field `action`. */
  action: string | null;
  /** The payload text, still possibly HTML-escaped. */
  payload: string;
  /** SOAP only: namespace URI of the request's operation element, echoed in the response. */
  operationNamespace: string | null;
  /** SOAP only: whether the parameter elements were namespace-qualified, so the result element can match. */
  qualifiedParameters: boolean;
  /** SOAP only: the payload came as CDATA, so the result goes back as CDATA. */
  cdata: boolean;
  /** The whole body as received, decoded to text, for the message log. */
  bodyText: string;
}

/** How an ack goes back: as the push came, or as it most likely came when it could not be read. */
export type AckShape = Pick<Envelope, 'kind' | 'operationNamespace' | 'qualifiedParameters' | 'cdata'>;

/** One `<lists>` item of the approval. */
export interface ApprovalItem {
  pi: string;
  cardNum: string;
  projectName: string;
}

/** Device ids and message id that the ack echoes; known as soon as the payload parses, even when it is refused. */
export interface AckAddressing {
  guid: string;
  senderId: string;
  receiverId: string;
}

/** The approval as read from the payload; every value a trimmed string, '' when absent. */
export interface Approval extends AckAddressing {
  employeeNo: string;
  operator: string;
  billType: string;
  billNum: string;
  approvalDate: string;
  approvalOpinion: string;
  items: ApprovalItem[];
}

export type AckCode = 'AA' | 'AE';

/** What the HTTP layer sends back: the ack in its envelope. */
export interface HttpAnswer {
  contentType: string;
  body: string;
}

/** The push as received, for the message log. */
export interface Received {
  envelope: EnvelopeKind;
  action: string | null;
  contentType: string | null;
  bodyText: string;
}

/** Lifecycle of a message row. `rejected` rows never own their GUID. */
export type MessageStatus = 'processing' | 'delivered' | 'sandbox' | 'failed' | 'unknown' | 'rejected';

/** A claim of a GUID: whose it is (the token), whom to send to, and what an earlier claim already sent. */
export interface Claimed {
  id: string;
  token: string;
  /** The look-up: the applicant's openid, null when no active mapping has one. */
  openid: string | null;
  /** When that openid last interacted with the account (the 48-hour window); null: never seen. */
  lastInteractionAt: Date | null;
  /** The parts an earlier claim of this GUID sent, and which of them WeChat accepted (1-based). */
  previousTexts: string[];
  acceptedParts: number[];
}

/** The state of a GUID someone else holds (or held), to decide what a repeated push gets. */
export interface ExistingMessage {
  status: MessageStatus;
  fingerprint: string | null;
  ackCode: AckCode | null;
  reason: string | null;
  finishedAt: Date | null;
  leaseExpired: boolean;
}

/** The ways a notice reaches an employee: the customer-service text, or a template message. */
export type ChannelName = 'custom' | 'template';

/** One call to a WeChat send API, as kept in `messages.attempts`. */
export interface DeliveryAttempt {
  at: string;
  /** The channel this attempt used (absent on records older than channels). */
  channel?: ChannelName;
  /** Template sends: WeChat's msgid, kept as text (it can exceed 2^53). */
  msgid?: string;
  /** Which part of the text (custom channel; 1-based); 0 for a template or when nothing was sent. */
  part: number;
  ms: number;
  errcode?: number;
  errmsg?: string;
  error?: string;
  httpStatus?: number;
  /** Sandbox mode: nothing was sent; the channel is the one the policy would have used. */
  sandbox?: boolean;
  /** Template sends (and sandbox): the template's data as sent, key → value. */
  templateData?: Record<string, { value: string }>;
  /** Set on attempts an administrator started from the message log. */
  resend?: boolean;
  actor?: string;
  forced?: boolean;
}

/** How a claim ends: written once, to its own claim, before the answer leaves. */
export interface Finish {
  token: string;
  status: MessageStatus;
  ackCode: AckCode;
  reason: string;
  /** Null keeps the ack already returned to the ERP (an administrator's resend answers no one). */
  ackXml: string | null;
  /** The code of that ack (null with it): what the ERP was told, which later resends do not change. */
  erpAckCode: AckCode | null;
  texts: string[];
  attempts: DeliveryAttempt[];
  errcode: number | null;
  errmsg: string | null;
  openidMasked: string | null;
  acceptedParts: number[];
  partsTotal: number | null;
  shortened: boolean;
}

/** A push that never owned a GUID: kept, answered, never processed. */
export interface Refusal {
  guid: string | null;
  senderId: string;
  receiverId: string;
  employeeNo: string | null;
  approval: Approval | null;
  fingerprint: string | null;
  reason: string;
  ackXml: string;
}

/** The shared WeChat access token as stored in Postgres. */
export interface StoredToken {
  accessToken: string;
  expiresAt: Date;
  fetchedAt: Date;
}

// ---- administration ----------------------------------------------------------------------------

export type BindingStatus = 'unbound' | 'invited' | 'bound' | 'unfollowed';
export type BoundVia = 'admin' | 'import' | 'self-service';

/** An employee ↔ openid mapping as the admin API shows it. */
export interface EmployeeRecord {
  employeeNo: string;
  openid: string | null;
  name: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
  binding: BindingStatus;
  boundVia: BoundVia | null;
  lastInteractionAt: string | null;
  /** Whether customer-service text would reach them now (the 48-hour window). */
  windowOpen: boolean;
  /** The open invitation (binding `invited`). */
  invitation: { code: string; expiresAt: string } | null;
}

/** A mapping to write. */
export interface MappingInput {
  employeeNo: string;
  /** Null: known, not bound (yet); undefined: keep what is stored (a new employee gets none). */
  openid?: string | null;
  /** Null keeps the stored name (or '' for a new mapping). */
  name: string | null;
  active: boolean;
}

export type WriteResult = 'created' | 'updated' | 'unchanged';

export interface Page {
  limit: number;
  offset: number;
}

export interface Listed<T> {
  items: T[];
  total: number;
}

// ---- rows, as TypeORM maps them (src/db/*.ts) --------------------------------------------------

export interface EmployeeRow {
  employeeNo: string;
  openid: string | null;
  name: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
  boundVia: BoundVia | null;
  unfollowedAt: Date | null;
}

export interface WechatUserRow {
  openid: string;
  lastInteractionAt: Date | null;
  following: boolean;
  failedBinds: number;
  failedBindsSince: Date | null;
  updatedAt: Date;
}

export interface InvitationRow {
  id: string;
  employeeNo: string;
  code: string;
  scene: string;
  qrTicket: string | null;
  qrUrl: string | null;
  createdAt: Date;
  createdBy: string;
  expiresAt: Date;
  usedAt: Date | null;
  usedBy: string | null;
  revokedAt: Date | null;
}

export interface CallbackEventRow {
  dedupeKey: string;
  receivedAt: Date;
  answered: boolean;
  reply: string | null;
}

export interface EmployeeAuditRow {
  id: string;
  at: Date;
  actor: string;
  employeeNo: string;
  action: 'create' | 'update' | 'delete' | 'invite' | 'bind' | 'unbind' | 'unfollow' | 'refollow';
  via: 'api' | 'import' | 'self-service';
  before: unknown;
  after: unknown;
}

export interface MessageRow {
  id: string;
  guid: string | null;
  status: MessageStatus;
  receivedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  deliveredAt: Date | null;
  envelope: EnvelopeKind;
  action: string | null;
  senderId: string;
  receiverId: string;
  employeeNo: string | null;
  contentType: string | null;
  payload: string;
  approval: Approval | null;
  fingerprint: string | null;
  openidMasked: string | null;
  ackCode: AckCode | null;
  reason: string | null;
  ackXml: string | null;
  texts: string[];
  wechatErrcode: number | null;
  wechatErrmsg: string | null;
  attempts: DeliveryAttempt[];
  pushCount: number;
  lastPushAt: Date;
  leaseUntil: Date | null;
  claimedBy: string | null;
  claimToken: string | null;
  acceptedParts: number[];
  partsTotal: number | null;
  shortened: boolean;
  templateMsgids: string[];
  /** TEMPLATESENDJOBFINISH as WeChat reported it: the ack already sent does not change. */
  deliveryReport: { status: string; msgid: string; at: string } | null;
  /** The ack code the ERP was told; ackCode is the current outcome after any resends. */
  erpAckCode: AckCode | null;
}

export interface WechatTokenRow {
  appId: string;
  api: 'stable' | 'classic';
  accessToken: string;
  expiresAt: Date;
  fetchedAt: Date;
  fetchedBy: string;
  fetchCount: string;
}
