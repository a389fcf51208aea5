// Target lists for the bench: N distinct loopback addresses 127.0.A.B (A = 1.., B = 1..254),
// one port, as in the shared peer harness's target lists. Distinct addresses keep ephemeral ports
// and TIME_WAIT from becoming the limit; the target listens on 0.0.0.0 so all of them reach it.
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export const maxHosts = 254 * 254;

/** `127.0.A.B` of host `index`; the names scenario's DNS server maps names onto the same. */
export function hostAddress(index: number): string {
  if (index < 0 || index >= maxHosts) throw new RangeError(`host index ${index} out of range`);
  return `127.0.${1 + Math.floor(index / 254)}.${1 + (index % 254)}`;
}

export function hostUrl(index: number, port: number): string {
  return `http://${hostAddress(index)}:${port}/`;
}

export function hostUrls(count: number, port: number): string[] {
  return Array.from({ length: count }, (_, index) => hostUrl(index, port));
}

/** One URL per line, for the contenders that take a URL file. */
export async function writeUrlList(file: string, urls: readonly string[]): Promise<void> {
  await writeFile(file, urls.map((url) => `${url}\n`).join(''));
}

/** curl -K files of at most `chunk` url/output pairs each; returns their paths in order. */
export async function writeCurlConfigs(
  dir: string,
  prefix: string,
  urls: readonly string[],
  chunk: number,
): Promise<string[]> {
  const entries = urls.map((url) => `url = "${url}"\noutput = "/dev/null"\n`);
  const files: string[] = [];
  for (let start = 0; start < entries.length; start += chunk) {
    const file = path.join(dir, `${prefix}.${String(files.length).padStart(4, '0')}.cfg`);
    await writeFile(file, entries.slice(start, start + chunk).join(''));
    files.push(file);
  }
  return files;
}
