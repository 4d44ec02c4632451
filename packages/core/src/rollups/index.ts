export * from "./distinct.ts";
export {
  foldBeforeRead,
  foldRollups,
  foldRollupsSoon,
  markStandby,
  vacuumPendingIfBloated,
} from "./fold.ts";
export {
  ERROR_DIMS,
  type ErrorDim,
  SPEND_DIMS,
  SPEND_GRAINS,
  type SpendDim,
  TAG_GRAINS,
} from "./grains.ts";
export * from "./maintain.ts";
export * from "./query.ts";
