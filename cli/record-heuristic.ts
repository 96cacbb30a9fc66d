#!/usr/bin/env node
// `record-heuristic`: the same as `lessons record-heuristic` (launch.ts).

import { launch } from './launch.js';

void launch('record-heuristic');
