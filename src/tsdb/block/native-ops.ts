// The addon functions the block code uses, gathered in one object so the block modules share one import.
import { native } from '../../native/binding.js';

export const ops = {
  crc32c: native.crc32c,
  xorEncode: native.xorEncode,
  xorDecode: native.xorDecode,
  xorDecodeInto: native.xorDecodeInto,
  xorDecodeMany: native.xorDecodeMany,
  xorInfo: native.xorInfo,
  mmap: native.mmap,
  munmap: native.munmap,
  adviseHuge: native.adviseHuge,
  blockPlan: native.blockPlan,
  intersect: native.intersect,
  union: native.union,
  difference: native.difference,
};
