/** The `spacekv` command line. */
import { Command } from 'commander';
import { addClientCommands } from './client-commands.js';
import { addOpsCommands } from './ops-commands.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token-commands.js';
import { SERVER_VERSION } from '../version.js';

const program = new Command('spacekv')
  .description('spacekv: a typed, transactional key-value data service')
  .version(SERVER_VERSION)
  .addCommand(serveCommand());
addClientCommands(program);
program.addCommand(tokenCommand(program));
addOpsCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`spacekv: ${(err as Error).message}`);
  process.exit(1);
});
