// What WeChat's errcodes mean for the administrator looking at a failed message, and what to do
// next (issue 11). One table, used by the admin API (`hint` on messages) and so by the page.

const HINTS: Readonly<Record<number, string>> = Object.freeze({
  [-1]: '微信系统繁忙。稍后重新发送即可。',
  40001: 'access_token 无效（可能被其他系统刷新）。桥接服务会自动换新并重试；若反复出现，请检查是否有其他系统用同一公众号的 AppSecret 获取 token。',
  40003: 'openid 无效：该员工绑定的微信账号不属于本公众号，或 openid 录入有误。请检查绑定（建议让员工扫码自助绑定）后重新发送。',
  40013: 'AppID 无效。请检查 WECHAT_APPID 配置。',
  40014: 'access_token 无效。桥接服务会自动换新并重试；若反复出现，请检查网络代理是否改写了请求。',
  40037: '模板ID无效：模板可能已被删除（修改公众号类目会删除模板）。请在公众号后台重新添加模板，并更新 WECHAT_TEMPLATE_ID。',
  40125: 'AppSecret 无效。请在公众号后台重置后更新 WECHAT_SECRET。',
  40164: '服务器 IP 不在公众号的 IP 白名单中。请在公众号后台“基本配置 → IP白名单”中加入本服务器的出口 IP，然后重新发送。',
  41001: '缺少 access_token。请检查网络代理配置（WECHAT_API_BASE）。',
  42001: 'access_token 已过期。桥接服务会自动换新并重试；若反复出现，请检查服务器时间。',
  43004: '该员工未关注公众号。请让员工关注（或扫描绑定二维码）后重新发送。',
  43101: '员工拒收了该公众号的消息。请联系员工在微信中允许接收后重新发送。',
  45009: '公众号当天的接口调用次数已用完。请明天再发送，或在公众号后台查看接口额度。',
  45015:
    '员工 48 小时内没有与公众号互动，客服消息无法送达。在员工与公众号互动（发一条消息或扫码）之前，重新发送仍会失败；配置模板消息（WECHAT_TEMPLATE_ID）后可不受此限制。',
  45047: '客服消息条数已达上限（员工互动后 48 小时内最多 5 条）。请等员工再次与公众号互动后重新发送，或配置模板消息（WECHAT_TEMPLATE_ID）。',
  47003: '模板消息的字段内容不符合要求（长度或格式）。请检查 WECHAT_TEMPLATE_FIELDS 中各字段的类型。',
  48001: '公众号没有该接口的权限（客服消息或模板消息需要已认证的服务号）。请在公众号后台确认接口权限。',
});

/** Not from WeChat: the binding is missing. */
const UNBOUND = '该工号没有绑定微信（或已停用）。请在员工绑定中生成绑定码让员工扫码，或填写 openid，然后重新发送。';
/** The bridge could not tell whether WeChat delivered it. */
const UNKNOWN = '发送结果未知：微信可能已经收到并送达。重新发送前请先向员工确认，避免重复通知。';

/** The hint for a failed message: by errcode, else by what the outcome was; null when there is nothing to add. */
export function hintFor(errcode: number | null, status: string, reason: string | null): string | null {
  if (errcode !== null && errcode !== 0) return HINTS[errcode] ?? `微信返回错误码 ${errcode}。可在微信开放文档“全局返回码”中查询原因。`;
  if (status === 'unknown') return UNKNOWN;
  if (reason === '工号关联账号不存在') return UNBOUND;
  return null;
}

export const KNOWN_ERRCODES = Object.keys(HINTS).map(Number);
