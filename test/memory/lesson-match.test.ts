import { describe, expect, it } from 'vitest';
import { contentWords, lessonApplies } from '../../src/memory/lesson-match.js';
import type { MemoryRecord } from '../../src/memory/types.js';

const lesson = (text: string, appliesWhen?: string): MemoryRecord => ({
  id: 'm-1',
  scopeKey: 'channel:c',
  userId: 'u',
  channelId: 'c',
  guildId: null,
  kind: 'lesson',
  text,
  speaker: null,
  context: null,
  createdAt: 0,
  lastAccessAt: 0,
  accessCount: 0,
  expiresAt: null,
  importance: 0.8,
  sourceRunId: null,
  contentHash: 'h',
  metadata: appliesWhen === undefined ? {} : { appliesWhen },
});

describe('when a lesson applies', () => {
  it('matches goals on what the lesson is for, folding plurals and ignoring generic words', () => {
    const deploy = lesson('When questions about deploy times: give times in Oslo time.', 'questions about deploy times');
    expect(lessonApplies('What time does the Friday deploy start?', deploy)).toBe(true);
    expect(lessonApplies('When are the deploys this week?', deploy)).toBe(true);
    expect(lessonApplies('I have questions about the lunch menu', deploy)).toBe(false);
  });

  it('does not apply because its instruction shares an everyday verb with the goal', () => {
    expect(lessonApplies('Write a snippet that validates the config file', lesson('write release dates in ISO format', 'writing release dates in the changelog'))).toBe(false);
    expect(lessonApplies('Summarise the outage report', lesson('report temperatures in Celsius', 'questions about temperature or weather'))).toBe(false);
  });

  it('falls back to the lesson text when it does not say what it is for', () => {
    expect(lessonApplies('What time is it in Lima?', lesson('Approach that worked for “What time is it in Tokyo?”: 1. current_time'))).toBe(true);
    expect(contentWords('The deploys are about questions')).toEqual(new Set(['deploy']));
  });
});
