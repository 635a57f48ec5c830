// Timestamps as Chinese hospital systems write them, in the process's local time zone (servers
// kept in UTC: set TZ=Asia/Shanghai). One module, so the ack and the duplicate notice agree.

const pad = (n: number): string => String(n).padStart(2, '0');

/** yyyyMMddHHmmss: the HL7 v3 creationTime of an ack. */
export function hl7Timestamp(date: Date): string {
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** yyyy-MM-dd HH:mm:ss: for people (the reason text of a duplicate). */
export function localDateTime(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
