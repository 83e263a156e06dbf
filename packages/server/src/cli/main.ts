/** The `spacekv` command line. */
import { Command } from 'commander';
import { serveCommand } from './serve.js';

const program = new Command('spacekv')
  .description('spacekv: a typed, transactional key-value data service')
  .version('0.1.0')
  .addCommand(serveCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`spacekv: ${(err as Error).message}`);
  process.exit(1);
});
