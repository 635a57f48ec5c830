import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ADMIN_TOKEN } from './bridge.js';

export interface FixtureEmployee {
  employeeNo: string;
  openid: string;
  name: string;
  active: boolean;
}

export const FIXTURES_DIR = path.resolve(import.meta.dirname, '../../fixtures');

export function fixtureEmployees(): FixtureEmployee[] {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'employees.json'), 'utf8')) as FixtureEmployee[];
}

/** Binds through the admin API, as an administrator would. */
export async function bind(url: string, employee: FixtureEmployee): Promise<void> {
  const res = await request(url)
    .put(`/admin/api/employees/${encodeURIComponent(employee.employeeNo)}`)
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send({ openid: employee.openid, name: employee.name, active: employee.active });
  if (res.status !== 200 && res.status !== 201) throw new Error(`binding ${employee.employeeNo} failed: ${res.status} ${res.text}`);
}
