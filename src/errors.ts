// The error the pure readers throw when input cannot be read: charset, envelope, XML, approval. It
// says what is wrong with the input and nothing about who asked: the push path answers it as an
// AE ack (push/read.ts), the admin API as a 400 naming the field (admin/router.ts).

export type FormatErrorCode =
  /** Nothing to read: an empty payload or an empty <request>. */
  | 'EMPTY'
  /** Bytes in a charset the bridge does not know. */
  | 'UNKNOWN_CHARSET'
  /** Bytes that are not text in the charset they claim (nor in GBK). */
  | 'UNDECODABLE'
  /** Not the XML (or envelope, or approval) it must be. */
  | 'MALFORMED';

export class FormatError extends Error {
  constructor(
    readonly code: FormatErrorCode,
    /** In Chinese, for the ack's reason after `消息格式错误：` (push) or after `charset: ` (admin). */
    readonly detail: string,
  ) {
    // The message is the whole sentence a person reads; `detail` is the part after the colon.
    super(code === 'EMPTY' ? detail : `消息格式错误：${detail}`);
    this.name = 'FormatError';
  }
}

export const malformed = (detail: string): FormatError => new FormatError('MALFORMED', detail);
export const empty = (): FormatError => new FormatError('EMPTY', '推送消息不能为空');
