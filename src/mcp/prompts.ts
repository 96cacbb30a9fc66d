// The MCP prompts: messages a client can offer its user (or run at the end of a task). One
// for now: look back on the task and record what was learnt, without repeating what is known.

import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { validateDomain } from '../record/validate.js';
import type { Store } from '../store/store.js';
import { completeDomain } from './resources.js';

export interface LessonsPrompt {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly arguments: readonly { name: string; description: string; required: boolean }[];
  readonly get: (store: Store, args: Readonly<Record<string, string>>) => Promise<GetPromptResult>;
  readonly complete?: (store: Store, argument: string, prefix: string) => Promise<string[]>;
}

export const recordLessonsPrompt: LessonsPrompt = {
  name: 'record_lessons',
  title: 'Record what this task taught',
  description:
    'At the end of a task: look back on it and record its failures and the rules learnt, with ' +
    'record_failure and record_heuristic, skipping what is already recorded.',
  arguments: [
    {
      name: 'domain',
      description: 'The area of work of the task, e.g. "database".',
      required: false,
    },
    { name: 'task', description: 'What the task was, in a sentence.', required: false },
  ],
  get: async (store, args) => {
    const domain =
      args.domain === undefined || args.domain.trim() === ''
        ? undefined
        : validateDomain(args.domain);
    const task = args.task?.trim() ?? '';
    const text = [
      `The task${task === '' ? '' : ` (${task})`} is done. Before you finish, record what it taught, so that the next task${domain === undefined ? '' : ` in ${domain}`} starts from it:`,
      '',
      '1. For each thing that went wrong and cost time (a failed command, a wrong assumption, a bug you caused or found), call `record_failure` with a one-line title, the domain, a severity (1-5), and the sections you can fill: summary, whatHappened, rootCause, impact and, above all, prevention.',
      '2. For each rule you would follow next time (what worked, what to check first), call `record_heuristic` with the rule in one line, the domain, an explanation, the source (failure, success, observation or debugging), your confidence (0-1), and sourceId when it came from a failure you just recorded.',
      '3. Skip what is already recorded: `search` for it first. Record nothing trivial, nothing secret (tokens, passwords, keys), and nothing you are unsure of as a high-confidence rule.',
      '',
      'Keep each record short and concrete: a future reader has only the record, not this conversation. Reply with the ids you recorded, or say that nothing was worth recording.',
    ].join('\n');
    const messages: GetPromptResult['messages'] = [
      { role: 'user', content: { type: 'text', text } },
    ];
    if (domain !== undefined) {
      let known: string | undefined;
      try {
        known = (await store.context({ domain })).markdown;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'NOT_A_STORE') throw error;
      }
      if (known !== undefined)
        messages.push({
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: `lessons://context/${domain}`,
              mimeType: 'text/markdown',
              text: known,
            },
          },
        });
    }
    return { description: recordLessonsPrompt.description, messages };
  },
  complete: (store, argument, prefix) =>
    argument === 'domain' ? completeDomain(store, prefix) : Promise.resolve([]),
};

export const PROMPTS: readonly LessonsPrompt[] = [recordLessonsPrompt];
