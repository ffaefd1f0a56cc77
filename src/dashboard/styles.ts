// The dashboard's one stylesheet, served as /assets/app.css (kept in TypeScript so the build has one step).
export const APP_CSS = `
:root { color-scheme: light dark; --fg: #1d2330; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --accent: #b4232a; --muted: #5b6472; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #14171c; --card: #1d2128; --line: #333a44; --accent: #ff6b6b; --muted: #9aa3af; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; color: var(--accent); }
nav a { margin-right: 1rem; color: var(--fg); text-decoration: none; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 2px solid var(--accent); }
.who { margin-left: auto; color: var(--muted); }
.live { color: var(--muted); }
.live.on { color: #2e9d4f; }
main { padding: 1rem 1.2rem; max-width: 1200px; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; }
h2 { font-size: 1rem; margin: .8rem 0 .4rem; }
.counters { display: flex; gap: 1rem; flex-wrap: wrap; }
.counter { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1.2rem; min-width: 12rem; }
.counter .value { font-size: 2rem; font-weight: 700; }
.counter .label { color: var(--muted); }
.silent { color: #b4232a; font-weight: 600; }
.charts { display: flex; gap: 1rem; flex-wrap: wrap; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 6px; min-height: 220px; width: 560px; }
table { border-collapse: collapse; background: var(--card); width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.reason { white-space: normal; }
.filter, .ban-form form { display: flex; gap: .5rem; flex-wrap: wrap; margin: .5rem 0; align-items: center; }
input, select, button { font: inherit; padding: .25rem .5rem; }
#prefix { width: 20rem; }
button { cursor: pointer; }
.pager { margin-top: .6rem; display: flex; gap: .5rem; }
.error { color: var(--accent); }
.login main { max-width: 22rem; margin: 10vh auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1.5rem; }
.login form { display: flex; flex-direction: column; gap: .6rem; }
.scroll { overflow-x: auto; }
.note { color: var(--muted); }
section.ban { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; margin-bottom: .8rem; }
section.ban h3 { font-size: 1rem; margin: 0 0 .3rem; }
section.ban h4 { font-size: .9rem; margin: .6rem 0 .2rem; }
table.hosts { width: auto; }
pre.lines { white-space: pre-wrap; word-break: break-all; font: 12px/1.4 ui-monospace, monospace; background: var(--bg); border: 1px solid var(--line); padding: .5rem; margin: 0; max-height: 24rem; overflow: auto; }
td a { color: inherit; }
.bad { color: var(--accent); font-weight: 600; }
.ok { color: #2e9d4f; }
.hint { color: var(--muted); font-size: .85rem; }
`;
