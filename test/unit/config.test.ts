import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has the contract defaults: port 8080, sandbox, stable token API, admin token from DATA_DIR', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', databaseUrl: null, bridgeId: 'WECHAT-BRIDGE', adminTokens: null, pushMaxBytes: 1048576 });
    expect(config.wechat).toMatchObject({ mode: 'sandbox', apiBase: 'https://api.weixin.qq.com', tokenApi: 'stable', timeoutMs: 5000, maxRetries: 3 });
  });

  it('runs one worker per core unless WORKERS says otherwise; 1 is a single process', () => {
    expect(loadConfig({}).workers).toBe(Math.min(availableParallelism(), 256));
    expect(loadConfig({ WORKERS: '' }).workers).toBe(Math.min(availableParallelism(), 256));
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    expect(loadConfig({ WORKERS: ' 4 ' }).workers).toBe(4);
  });

  it('reads name:token pairs for the audit trail', () => {
    expect(loadConfig({ ADMIN_TOKEN: 'alice:token-aaaaaaaa, bob:token-bbbbbbbb' }).adminTokens).toEqual([
      { actor: 'alice', token: 'token-aaaaaaaa' },
      { actor: 'bob', token: 'token-bbbbbbbb' },
    ]);
    expect(loadConfig({ ADMIN_TOKEN: 'plain-token' }).adminTokens).toEqual([{ actor: 'admin', token: 'plain-token' }]);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ WECHAT_APPID: 'wx123' }, 'WECHAT_SECRET'],
    [{ WECHAT_SECRET: 'secret' }, 'WECHAT_APPID'],
    [{ WECHAT_TOKEN_API: 'weekly' }, 'WECHAT_TOKEN_API'],
    [{ WECHAT_TIMEOUT_MS: '5s' }, 'WECHAT_TIMEOUT_MS'],
    [{ WECHAT_TIMEOUT_MS: '60000' }, 'WECHAT_TIMEOUT_MS'],
    [{ WECHAT_MAX_RETRIES: '-1' }, 'WECHAT_MAX_RETRIES'],
    [{ WECHAT_API_BASE: 'ftp://x' }, 'WECHAT_API_BASE'],
    [{ ADMIN_TOKEN: 'alice:short' }, 'ADMIN_TOKEN'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    // §10: a template id without its field mapping, and the other way round.
    [{ WECHAT_TEMPLATE_ID: 'TPL_1' }, 'WECHAT_TEMPLATE_FIELDS'],
    [{ WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type' }, 'WECHAT_TEMPLATE_ID'],
    [{ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=no_such_field' }, 'WECHAT_TEMPLATE_FIELDS'],
    [{ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1' }, 'WECHAT_TEMPLATE_FIELDS'],
    [{ WECHAT_TEMPLATE_URL: 'https://erp.local/{guid}' }, 'WECHAT_TEMPLATE_ID'],
    [{ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type', WECHAT_TEMPLATE_URL: 'erp/{guid}' }, 'WECHAT_TEMPLATE_URL'],
    [{ WECHAT_DELIVERY: 'template' }, 'WECHAT_DELIVERY'],
    [{ WECHAT_DELIVERY: 'auto' }, 'WECHAT_DELIVERY'],
    [{ WECHAT_DELIVERY: 'sms' }, 'WECHAT_DELIVERY'],
    // §8: the callback's settings.
    [{ WECHAT_ENCODING_AES_KEY: 'a'.repeat(43) }, 'WECHAT_ENCODING_AES_KEY'],
    [{ CALLBACK_PORT: '8081' }, 'CALLBACK_PORT'],
    [{ WECHAT_CALLBACK_TOKEN: 'has space' }, 'WECHAT_CALLBACK_TOKEN'],
    [{ WECHAT_CALLBACK_TOKEN: 'token123', WECHAT_ENCODING_AES_KEY: 'tooshort' }, 'WECHAT_ENCODING_AES_KEY'],
    [{ WECHAT_CALLBACK_TOKEN: 'token123', WECHAT_ENCODING_AES_KEY: 'a'.repeat(43) }, 'WECHAT_APPID'],
    [{ WECHAT_CALLBACK_TOKEN: 'token123', CALLBACK_PORT: '8080' }, 'CALLBACK_PORT'],
    [{ WECHAT_CALLBACK_TOKEN: 'token123', CALLBACK_PORT: 'x' }, 'CALLBACK_PORT'],
    // Processes serving the port: a positive whole number.
    [{ WORKERS: '0' }, 'WORKERS'],
    [{ WORKERS: '-1' }, 'WORKERS'],
    [{ WORKERS: '2.5' }, 'WORKERS'],
    [{ WORKERS: 'auto' }, 'WORKERS'],
    [{ WORKERS: '1000' }, 'WORKERS'],
  ])('stops on %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message.startsWith(`${variable}: `)).toBe(true);
    }
  });

  it('chooses the delivery policy: custom without a template, auto with one, as configured otherwise (§10)', () => {
    expect(loadConfig({}).wechat).toMatchObject({ delivery: 'custom', template: null });
    const templated = loadConfig({ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type, character_string2 = bill_num', WECHAT_TEMPLATE_URL: 'https://erp.local/bill?guid={guid}' });
    expect(templated.wechat.delivery).toBe('auto');
    expect(templated.wechat.template).toEqual({
      templateId: 'TPL_1',
      url: 'https://erp.local/bill?guid={guid}',
      fields: [
        { key: 'thing1', source: 'approval', field: 'bill_type' },
        { key: 'character_string2', source: 'approval', field: 'bill_num' },
      ],
    });
    expect(loadConfig({ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type', WECHAT_DELIVERY: 'custom' }).wechat.delivery).toBe('custom');
    expect(loadConfig({ WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type', WECHAT_DELIVERY: 'template' }).wechat.delivery).toBe('template');
  });

  it('turns the callback on with its token; safe mode with one key or NEW,OLD (§8)', () => {
    expect(loadConfig({}).callback).toBeNull();
    expect(loadConfig({ WECHAT_CALLBACK_TOKEN: 'token123' }).callback).toEqual({ token: 'token123', aesKeys: null, port: null });
    const keyNew = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const keyOld = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg';
    const safe = loadConfig({ WECHAT_APPID: 'wx1', WECHAT_SECRET: 's', WECHAT_CALLBACK_TOKEN: 'token123', WECHAT_ENCODING_AES_KEY: `${keyNew},${keyOld}`, CALLBACK_PORT: '8443' });
    expect(safe.callback?.port).toBe(8443);
    expect(safe.callback?.aesKeys?.map((k) => k.toString('base64'))).toEqual([Buffer.from(`${keyNew}=`, 'base64').toString('base64'), Buffer.from(`${keyOld}=`, 'base64').toString('base64')]);
  });

  it('keeps a path prefix on WECHAT_API_BASE for proxies', () => {
    expect(loadConfig({ WECHAT_API_BASE: 'http://proxy.local:8080/wechat/' }).wechat.apiBase).toBe('http://proxy.local:8080/wechat');
  });
});
