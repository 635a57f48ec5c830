import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has the contract defaults: port 8080, sandbox, stable token API, admin token from DATA_DIR', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', databaseUrl: null, bridgeId: 'WECHAT-BRIDGE', adminTokens: null, pushMaxBytes: 1048576 });
    expect(config.wechat).toMatchObject({ mode: 'sandbox', apiBase: 'https://api.weixin.qq.com', tokenApi: 'stable', timeoutMs: 5000, maxRetries: 3 });
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
  ])('stops on %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message.startsWith(`${variable}: `)).toBe(true);
    }
  });

  it('keeps a path prefix on WECHAT_API_BASE for proxies', () => {
    expect(loadConfig({ WECHAT_API_BASE: 'http://proxy.local:8080/wechat/' }).wechat.apiBase).toBe('http://proxy.local:8080/wechat');
  });
});
