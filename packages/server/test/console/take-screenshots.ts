// Takes the screenshots of docs/console/ (shown in the README and docs/console/README.md) from a
// real server with sample data.
// Run after `npm run build`: node packages/server/dist/test/console/take-screenshots.js
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '@spacekv/client';
import { startTestServer } from '../helpers/server.js';
import { type PageDocument, launchBrowser } from '../helpers/browser.js';

declare const document: PageDocument;

const OUT = fileURLToPath(new URL('../../../../../docs/console/', import.meta.url));
mkdirSync(OUT, { recursive: true });

const server = await startTestServer('screenshots', { inMemory: true });
const db = await connect(server.url);
const browser = await launchBrowser();
try {
  await db.addSpace('space people key username attributes string name, string city, int age, set(string) tags index age');
  await db.addSpace('space sessions key id attributes string user, timestamp started ttl 3600');
  await db.addSpace('space load key k attributes int n');
  const cities = ['Lisbon', 'Oslo', 'Kyoto', 'Quito', 'Accra'];
  await Promise.all(Array.from({ length: 1_200 }, (_, i) => db.put('people', `user${String(i).padStart(4, '0')}`, {
    name: `Person ${i}`, city: cities[i % cities.length] as string, age: 18 + (i % 60), tags: i % 3 === 0 ? ['admin'] : ['member'],
  })));

  const page = await browser.context.newPage();
  const shot = async (hash: string, file: string, ready: string) => {
    await page.goto(`${server.url}/console${hash}`);
    await page.locator(ready).first().waitFor();
    await page.screenshot({ path: `${OUT}${file}`, fullPage: false });
  };

  await shot('#/spaces', 'spaces.png', '[data-space="people"]:not(:empty)');
  await page.waitForFunction(() => !document.querySelector('[data-space="people"]')?.textContent?.includes('counting'));
  await page.locator('#schema').fill('space orders key id attributes string customer, int total, strng status');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#schema-problem .error').waitFor();
  await page.locator('#schema').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${OUT}spaces-dsl-error.png` });

  await shot('#/space/people', 'objects.png', 'table.objects');

  await shot('#/space/people/object/user0007', 'object.png', '.version');
  await db.put('people', 'user0007', { city: 'Porto' });
  await page.locator('#attributes').fill('{"name": "Person 7", "city": "Bergen", "age": 25, "tags": ["member"]}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.conflict').waitFor();
  await page.screenshot({ path: `${OUT}object-conflict.png` });

  await page.goto(`${server.url}/console#/space/people/search`);
  await page.getByRole('button', { name: 'Add predicate' }).click();
  await page.getByLabel('attribute').selectOption('age');
  await page.getByLabel('operator').selectOption('gte');
  await page.getByLabel('value').fill('70');
  await page.getByRole('button', { name: 'Add predicate' }).click();
  await page.getByLabel('attribute').nth(1).selectOption('city');
  await page.getByLabel('value').nth(1).fill('Oslo');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.plan').waitFor();
  await page.screenshot({ path: `${OUT}search.png` });

  await page.goto(`${server.url}/console#/changes`);
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  for (let i = 0; i < 8; i++) await db.mutate('people', `user${String(i).padStart(4, '0')}`, [{ add: { age: 1 } }]);
  await db.del('people', 'user1199');
  await page.locator('table.changes tbody tr').nth(8).waitFor();
  await page.screenshot({ path: `${OUT}changes.png` });

  await page.goto(`${server.url}/console#/metrics`);
  const until = Date.now() + 30_000;
  let n = 0;
  while (Date.now() < until) await Promise.all(Array.from({ length: 200 }, () => db.put('load', `k${n++ % 5_000}`, { n })));
  await page.screenshot({ path: `${OUT}metrics.png`, fullPage: true });

  await shot('#/health', 'health.png', '[data-health]');

  await page.setViewportSize({ width: 390, height: 844 });
  await shot('#/space/people', 'phone-objects.png', 'table.objects');
} finally {
  await browser.close();
  await db.close();
  await server.stop();
}
