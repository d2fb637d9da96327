/** Layer factories in the tfjs style: `rk.layers.lstm({ units: 64, inputShape: [28, 28] })`. */
import { Dense, DenseLayerArgs, Dropout, DropoutLayerArgs, Embedding, EmbeddingLayerArgs, Masking, MaskingLayerArgs } from './core';
import { GRULayerArgs, LSTMLayerArgs, RecurrentLayer, RecurrentLayerArgs } from './recurrent';
import { Bidirectional, BidirectionalLayerArgs, TimeDistributed, TimeDistributedLayerArgs } from './wrappers';

export function simpleRNN(args: RecurrentLayerArgs): RecurrentLayer {
  return new RecurrentLayer('simpleRNN', args as LSTMLayerArgs & GRULayerArgs);
}
export function lstm(args: LSTMLayerArgs): RecurrentLayer {
  return new RecurrentLayer('lstm', args as LSTMLayerArgs & GRULayerArgs);
}
export function gru(args: GRULayerArgs): RecurrentLayer {
  return new RecurrentLayer('gru', args as LSTMLayerArgs & GRULayerArgs);
}
export function dense(args: DenseLayerArgs): Dense {
  return new Dense(args);
}
export function dropout(args: DropoutLayerArgs): Dropout {
  return new Dropout(args);
}
export function masking(args?: MaskingLayerArgs): Masking {
  return new Masking(args);
}
export function embedding(args: EmbeddingLayerArgs): Embedding {
  return new Embedding(args);
}
export function bidirectional(args: BidirectionalLayerArgs): Bidirectional {
  return new Bidirectional(args);
}
export function timeDistributed(args: TimeDistributedLayerArgs): TimeDistributed {
  return new TimeDistributed(args);
}
