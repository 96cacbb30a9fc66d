#!/usr/bin/env node
// `record-failure`: the same as `lessons record-failure` (launch.ts).

import { launch } from './launch.js';

void launch('record-failure');
