// The shapes that travel along the push path, in the order they appear:
// receive → unwrap envelope → read approval → record → look up → format → deliver → acknowledge.

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

/** One `<lists>` item of the approval. */
export interface ApprovalItem {
  pi: string;
  cardNum: string;
  projectName: string;
}

/** The approval as read from the payload; every value a trimmed string, '' when absent. */
export interface Approval {
  guid: string;
  senderId: string;
  receiverId: string;
  employeeNo: string;
  operator: string;
  billType: string;
  billNum: string;
  approvalDate: string;
  approvalOpinion: string;
  items: ApprovalItem[];
}

/** Device ids and message id that the ack echoes; known as soon as the payload parses, even when it is rejected. */
export interface AckAddressing {
  guid: string;
  senderId: string;
  receiverId: string;
}

export type AckCode = 'AA' | 'AE';

/** Lifecycle of a message row. `rejected` rows never own their GUID. */
export type MessageStatus = 'processing' | 'delivered' | 'sandbox' | 'failed' | 'unknown' | 'rejected';

/** One call to the customer-service send API, as kept in `messages.attempts`. */
export interface DeliveryAttempt {
  at: string;
  part: number;
  ms: number;
  errcode?: number;
  errmsg?: string;
  error?: string;
  httpStatus?: number;
  /** Set on attempts an administrator started from the message log. */
  resend?: boolean;
  actor?: string;
  forced?: boolean;
}

/** The shared WeChat access token as stored in Postgres. */
export interface StoredToken {
  accessToken: string;
  expiresAt: Date;
  fetchedAt: Date;
}
