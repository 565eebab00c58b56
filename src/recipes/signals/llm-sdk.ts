/**
 * The OpenAI client and the mapping of its errors, in one module that an
 * LLM stage imports at its first call: a signals config without LLM stages
 * never loads openai, and one with stages loads it when they first run.
 */
export { APIError, default as OpenAI } from 'openai';
export { notACompletion, toRuntimeError } from './llm-errors.ts';
