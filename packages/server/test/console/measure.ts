// Measures what the console costs (the figures in docs/console/README.md): its JavaScript (gzip),
// its first contentful paint on a cold cache in chromium, and the server CPU one /metrics scrape
// takes (the metrics view makes one every CONSOLE_LIMITS.metricsScrapeIntervalMs).
// Run after `npm run build`: node packages/server/dist/test/console/measure.js
import { gzipSync } from 'node:zlib';
import { CONSOLE_LIMITS } from '@spacekv/core';
import { connect } from '@spacekv/client';
import { startTestServer } from '../helpers/server.js';
import { launchBrowser } from '../helpers/browser.js';

declare const performance: { getEntriesByName(name: string): readonly { startTime: number }[] };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const server = await startTestServer('measure', { inMemory: true });
const db = await connect(server.url);
const browser = await launchBrowser();
try {
  const html = await (await fetch(`${server.url}/console`)).text();
  let scriptBytes = 0;
  for (const m of html.matchAll(/\/console\/assets\/([\w-]+\.js)/g)) scriptBytes += gzipSync(Buffer.from(await (await fetch(`${server.url}/console/assets/${m[1]}`)).arrayBuffer())).length;
  console.log(`JavaScript per page load: ${(scriptBytes / 1024).toFixed(1)} KB gzip`);

  const paints: number[] = [];
  for (let i = 0; i < 5; i++) {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(`${server.url}/console#/spaces`);
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
    paints.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1));
    await page.close();
  }
  console.log(`first contentful paint, cold cache: median ${median(paints).toFixed(0)} ms of ${paints.map((p) => p.toFixed(0)).join(', ')}`);

  // Fill the request metrics with the series a busy server has (several operations and outcomes).
  await db.addSpace('space m key k attributes int n');
  await Promise.all(Array.from({ length: 5_000 }, (_, i) => db.put('m', `k${i % 500}`, { n: i })));
  await Promise.all(Array.from({ length: 2_000 }, (_, i) => db.get('m', `k${i}`)));
  await Promise.all(Array.from({ length: 200 }, (_, i) => db.putIfNotExist('m', `k${i}`, {}).catch(() => undefined)));
  const scrapes = 200;
  const start = process.cpuUsage();
  for (let i = 0; i < scrapes; i++) await (await fetch(`${server.url}/metrics`)).text();
  const used = process.cpuUsage(start);
  const perScrapeMs = (used.user + used.system) / 1000 / scrapes;
  console.log(`CPU per /metrics scrape (server and this fetching client together): ${perScrapeMs.toFixed(2)} ms; at one per ${CONSOLE_LIMITS.metricsScrapeIntervalMs} ms: ${((perScrapeMs / CONSOLE_LIMITS.metricsScrapeIntervalMs) * 100).toFixed(3)}% of one core`);
} finally {
  await browser.close();
  await db.close();
  await server.stop();
}
