/**
 * The buildmaster web UI: a small single-page app over the REST API. Each page is a function that
 * draws into the main element and returns how to stop (its timers); the router maps paths to pages
 * and intercepts clicks on links marked data-route.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { loadConfig, login, logout, uiConfig, whoAmI } from './api.js';
import { h, link, replace } from './dom.js';
import { buildPage } from './pages/build.js';
import { builderPage } from './pages/builder.js';
import { buildersPage } from './pages/builders.js';
import { failuresPage } from './pages/failures.js';
import { gridPage } from './pages/grid.js';
import { trendsPage } from './pages/trends.js';
import { workersPage } from './pages/workers.js';

/** A page: draws into `main`, returns its cleanup (stop timers, close streams). */
export type Page = (main: HTMLElement, params: Record<string, string>, query: URLSearchParams) => (() => void) | void;

const ROUTES: [RegExp, Page][] = [
  [/^\/$/, gridPage],
  [/^\/grid$/, gridPage],
  [/^\/builders$/, buildersPage],
  [/^\/waterfall$/, buildersPage],
  [/^\/builders\/(?<builderid>\d+)$/, builderPage],
  [/^\/builders\/(?<builderid>\d+)\/builds\/(?<number>\d+)$/, buildPage],
  [/^\/builds\/(?<buildid>\d+)$/, buildPage],
  [/^\/workers$/, workersPage],
  [/^\/trends$/, trendsPage],
  [/^\/failures$/, failuresPage],
];

const NAV: [string, string][] = [
  ['/', 'Grid'],
  ['/builders', 'Builders'],
  ['/workers', 'Workers'],
  ['/trends', 'Trends'],
  ['/failures', 'Failures'],
];

let stopPage: (() => void) | void;

function header(): HTMLElement {
  const cfg = uiConfig();
  const me = whoAmI();
  const nav = h('nav', { class: 'top' }, h('span', { class: 'title' }, cfg.title || 'buildmaster'), ...NAV.map(([href, text]) => link(href, text)));
  const who = h('span', { class: 'who' });
  if (me.via === 'session' && me.username) {
    replace(who, h('span', { class: 'user' }, `logged in as ${me.username}`), ' ', h('button', { type: 'button', class: 'link logout', onclick: () => void logout().then(render) }, 'log out'));
  } else if (me.via === 'local') {
    replace(who, h('span', { class: 'user muted', title: 'no users are configured: this master accepts control from its own machine' }, 'local control (no login configured)'));
  } else if (me.username) {
    replace(who, h('span', { class: 'user' }, me.username));
  } else if (cfg.auth.loginConfigured) {
    const name = h('input', { name: 'username', placeholder: 'user', autocomplete: 'username', size: 10 });
    const pass = h('input', { name: 'password', type: 'password', placeholder: 'password', autocomplete: 'current-password', size: 10 });
    const msg = h('span', { class: 'error' });
    const form = h(
      'form',
      {
        class: 'login',
        onsubmit: (e: Event) => {
          e.preventDefault();
          login(name.value, pass.value).then(render, (err: Error) => replace(msg, ` ${err.message}`));
        },
      },
      name,
      ' ',
      pass,
      ' ',
      h('button', { type: 'submit' }, 'log in'),
      msg,
    );
    replace(who, form);
  }
  nav.appendChild(who);
  return nav;
}

function render(): void {
  if (stopPage) stopPage();
  stopPage = undefined;
  const root = document.getElementById('app')!;
  const main = h('main');
  replace(root, header(), main);
  rendered = location.pathname + location.search;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  for (const [re, page] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    document.title = `${uiConfig().title || 'buildmaster'}`;
    stopPage = page(main, { ...(m.groups ?? {}) }, new URLSearchParams(location.search));
    return;
  }
  replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, location.pathname), '. ', link('/', 'Back to the grid.')));
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  render();
  window.scrollTo(0, 0);
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest?.('a[data-route]') as HTMLAnchorElement | null;
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute('href')!);
});
// A hash change (a link to a log line) fires popstate too: only another page re-renders.
let rendered = '';
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== rendered) render();
});

void loadConfig().then(render);
