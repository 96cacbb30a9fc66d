#!/usr/bin/env node
// `lessons`: every command of the toolkit (launch.ts).

import { launch } from './launch.js';

void launch('lessons');
