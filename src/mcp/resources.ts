// The MCP resources: what a client can read without a tool call. Each entry is a URI template
// under lessons:// with what reading it returns; the golden rules (lessons://golden/{domain})
// will be one more entry.

import { InvalidInputError } from '../errors/index.js';
import { validateDomain } from '../record/validate.js';
import type { Store } from '../store/store.js';
import { emptyDigest } from './tools.js';

export interface ResourceContents {
  readonly text: string;
  readonly mimeType: string;
}

export interface ListedResource {
  readonly uri: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly mimeType: string;
}

export interface LessonsResource {
  /** An RFC 6570 template (level 1: `{name}` stands for one path segment), or a plain URI. */
  readonly template: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly mimeType: string;
  /** The concrete resources to list, when there are few enough to list. */
  readonly list?: (store: Store) => Promise<ListedResource[]>;
  readonly read: (
    store: Store,
    vars: Readonly<Record<string, string>>,
  ) => Promise<ResourceContents>;
  /** Values a variable of the template can take, for completion. */
  readonly complete?: (store: Store, variable: string, prefix: string) => Promise<string[]>;
}

/** At most this many domains are listed as resources (the busiest); the template reads any. */
const LISTED_DOMAINS = 100;

/** Domains that start with `prefix`, the busiest first; none while the store does not exist. */
export async function completeDomain(store: Store, prefix: string): Promise<string[]> {
  const start = prefix.toLowerCase();
  let domains: { domain: string }[];
  try {
    domains = await store.domains();
  } catch {
    return [];
  }
  return domains
    .map((d) => d.domain)
    .filter((d) => d.startsWith(start))
    .slice(0, 100);
}

async function digest(store: Store, domain: string | undefined): Promise<ResourceContents> {
  let markdown: string;
  try {
    markdown = (await store.context({ domain })).markdown;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'NOT_A_STORE') throw error;
    markdown = emptyDigest(domain).markdown;
  }
  return { text: markdown, mimeType: 'text/markdown' };
}

export const contextOfAllResource: LessonsResource = {
  template: 'lessons://context',
  name: 'context',
  title: 'Lessons of every domain',
  description: 'The rules and failures of every domain, as a Markdown digest of 2000 tokens.',
  mimeType: 'text/markdown',
  list: async () => [
    {
      uri: 'lessons://context',
      name: 'context',
      title: 'Lessons of every domain',
      description: 'The rules and failures of every domain.',
      mimeType: 'text/markdown',
    },
  ],
  read: (store) => digest(store, undefined),
};

export const contextResource: LessonsResource = {
  template: 'lessons://context/{domain}',
  name: 'context-of-domain',
  title: 'Lessons of a domain',
  description:
    "A domain's rules (by confidence), failures (most severe first) and related records from " +
    'other domains, as a Markdown digest of 2000 tokens: what `lessons context --domain D` prints.',
  mimeType: 'text/markdown',
  list: async (store) => {
    let domains: { domain: string; records: number }[];
    try {
      domains = await store.domains();
    } catch {
      return [];
    }
    return domains.slice(0, LISTED_DOMAINS).map(({ domain, records }) => ({
      uri: `lessons://context/${domain}`,
      name: `context-${domain}`,
      title: `Lessons of ${domain}`,
      description: `The digest of the ${records} records of ${domain}.`,
      mimeType: 'text/markdown',
    }));
  },
  read: (store, { domain }) => digest(store, validateDomain(domain)),
  complete: (store, variable, prefix) =>
    variable === 'domain' ? completeDomain(store, prefix) : Promise.resolve([]),
};

export const recordResource: LessonsResource = {
  template: 'lessons://record/{id}',
  name: 'record',
  title: 'A lesson',
  description: 'One record in full, by id (or unique id prefix), as Markdown.',
  mimeType: 'text/markdown',
  read: async (store, { id }) => {
    const record = await store.get(id ?? '');
    return { text: record.body, mimeType: 'text/markdown' };
  },
};

export const RESOURCES: readonly LessonsResource[] = [
  contextOfAllResource,
  contextResource,
  recordResource,
];

export function isTemplate(resource: LessonsResource): boolean {
  return resource.template.includes('{');
}

/** The resource a URI names, with the values of its template's variables. */
export function matchResource(
  uri: string,
): { resource: LessonsResource; vars: Record<string, string> } | undefined {
  for (const resource of RESOURCES) {
    const names: string[] = [];
    const pattern = resource.template
      .split(/(\{[a-z]+\})/i)
      .map((part) => {
        const variable = /^\{([a-z]+)\}$/i.exec(part);
        if (variable === null) return part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        names.push(variable[1]!);
        return '([^/?#]+)';
      })
      .join('');
    const match = new RegExp(`^${pattern}$`).exec(uri);
    if (match === null) continue;
    const vars: Record<string, string> = {};
    names.forEach((name, i) => {
      try {
        vars[name] = decodeURIComponent(match[i + 1]!);
      } catch {
        throw new InvalidInputError(
          name,
          `${JSON.stringify(match[i + 1])} is not a valid URI component`,
          'Percent-encode it correctly.',
        );
      }
    });
    return { resource, vars };
  }
  return undefined;
}
