// A separate process for the ban store tests: holds a store open, or writes bans until it is killed.
import { LevelBanStore } from '../../src/store/level-store.js';
import { newBan } from './store-contract.js';

const [mode, dir] = process.argv.slice(2);
if (dir === undefined) throw new TypeError('usage: store-child hold|write DIR');
const store = new LevelBanStore(dir);
await store.open();

if (mode === 'hold') {
  // Stays open until the parent closes our stdin.
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void store.close().then(() => process.exit(0));
  });
} else {
  // Eight writers at once so acknowledged bans come from shared batches; each line on stdout is
  // written only after its ban() resolved (stdout to a pipe is synchronous on Linux).
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < 200_000) {
      const i = next++;
      const target = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      await store.ban([newBan(target)]);
      process.stdout.write(`acked ${target}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
  await store.close();
}
