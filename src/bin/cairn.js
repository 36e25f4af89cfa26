#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx cairn` works right after `npm ci`.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli.ts');
process.exit(await main(process.argv.slice(2)));
