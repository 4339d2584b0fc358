// Accessibility smoke: names and roles, Escape and focus return, no focus theft on load.
import { test } from 'node:test';
import {
  assert, useEnv, ok, waitForWidget, waitFor, inShadow, assertNoPageErrors, waitLoaded, WIDGET_ID, TITLE,
} from './harness.mjs';

const env = useEnv();

/** Where focus is: 'body', 'page:<id>' or 'widget:<class>' (inside the shadow root). */
function focusOf(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return 'body';
    if (a.id === 'livechat-widget') {
      const inner = a.shadowRoot.activeElement;
      return 'widget:' + (inner ? inner.className || inner.tagName.toLowerCase() : '?');
    }
    return 'page:' + (a.id || a.tagName.toLowerCase());
  });
}

test('launcher is a named button; the window is a named dialog; controls are labelled', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  const launcher = page.getByRole('button', { name: 'Open chat' });
  await launcher.waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await launcher.count(), 1);
  assert.equal(await launcher.evaluate((el) => el.tagName), 'BUTTON');
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.getByRole('dialog').count(), 0, 'no dialog exposed while closed');

  await launcher.click();
  const dialog = page.getByRole('dialog', { name: TITLE });
  await dialog.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await dialog.count(), 1, 'the window is a dialog named by its title');
  const closeLauncher = page.getByRole('button', { name: 'Close chat' });
  assert.equal(await closeLauncher.getAttribute('aria-expanded'), 'true');
  assert.equal(await page.getByRole('button', { name: 'Minimize chat window' }).count(), 1, 'the close button is named');
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 1, 'the message box is labelled');
  assert.equal(await page.getByRole('button', { name: 'Send' }).count(), 1, 'the send button is named');
  assert.equal(await page.getByRole('log').count(), 1, 'messages are a live log');
  // Names follow the language.
  await ok(page, 'set_language', 'de-DE');
  await waitForWidget(page, (w) => w.lang === 'de-DE', 'German');
  const name = await inShadow(page, (root) => root.querySelector('.launcher').getAttribute('aria-label'));
  assert.ok(name && name !== 'Close chat' && name !== 'Open chat', `launcher name translated: ${name}`);
  assertNoPageErrors(page);
});

test('Escape closes the window and focus returns to the launcher', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  const launcher = page.locator('#livechat-widget .launcher');
  await launcher.waitFor({ state: 'visible', timeout: 10000 });
  // Keyboard only: Tab from the page's own button to the launcher, Enter opens.
  await page.focus('#page-button');
  await page.keyboard.press('Tab');
  assert.equal(await focusOf(page), 'widget:launcher', 'the launcher is reachable with Tab');
  await page.keyboard.press('Enter');
  await waitForWidget(page, (w) => w.open, 'opened with the keyboard');
  await waitFor(async () => (await focusOf(page)) === 'widget:input', { message: 'focus moves into the window (textarea)' });
  await page.keyboard.press('Escape');
  await waitForWidget(page, (w) => !w.open, 'Escape closed the window');
  assert.equal(await focusOf(page), 'widget:launcher', 'focus back on the launcher');
  // Escape from another control inside the window (the close button) also works.
  await page.keyboard.press('Enter');
  await waitForWidget(page, (w) => w.open, 'reopened');
  await page.locator('#livechat-widget button.close').focus();
  await page.keyboard.press('Escape');
  await waitForWidget(page, (w) => !w.open, 'closed again');
  assert.equal(await focusOf(page), 'widget:launcher');
  // The close button returns focus too.
  await page.keyboard.press('Enter');
  await waitForWidget(page, (w) => w.open, 'reopened');
  await page.locator('#livechat-widget button.close').click();
  await waitForWidget(page, (w) => !w.open, 'closed with the button');
  assert.equal(await focusOf(page), 'widget:launcher');
  assertNoPageErrors(page);
});

test('the widget does not take focus on page load', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  await waitForWidget(page, (w) => w.launcher, 'rendered');
  await page.waitForTimeout(200);
  assert.equal(await focusOf(page), 'body');
  // The page's own focus is left alone when the widget appears later.
  const page2 = await env.open('/e2e/plain.html');
  await page2.focus('#page-button');
  await ok(page2, 'init', WIDGET_ID);
  await waitForWidget(page2, (w) => w.launcher, 'rendered');
  await page2.waitForTimeout(200);
  assert.equal(await focusOf(page2), 'page:page-button');
  assertNoPageErrors(page);
  assertNoPageErrors(page2);
});

test('a window restored open on reload does not steal focus', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  await waitFor(async () => (await page.evaluate((k) => localStorage.getItem(k), 'livechat:' + WIDGET_ID) || '').includes('"open":true'), { message: 'open state stored' });
  await page.reload();
  await waitLoaded(page);
  await waitForWidget(page, (w) => w.open, 'restored open');
  await page.waitForTimeout(200);
  assert.equal(await focusOf(page), 'body', 'focus stays where the page put it');
  assertNoPageErrors(page);
});
