// How the project drives a browser, for the page bench and the page tests alike: Debian's
// Chromium (never a browser download), with the flags this closed machine needs.
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];
