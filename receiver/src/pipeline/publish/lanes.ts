import { Partitioners } from 'kafkajs';

/**
 * A relay lane is the partition of the events topic a message key maps to, as Kafka's default
 * partitioner maps it (murmur2 of the key): every message about one root — its events, commands,
 * outcomes, states — shares the root's key, hence its lane, hence one publisher and one order.
 * kafkajs's own partitioner computes it, so a lane is exactly the partition the event lands in.
 */
export function laneOf(lanes: number): (key: string) => number {
  if (lanes <= 1) return () => 0;
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: lanes }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
  return (key) => partitioner({ topic: 'lanes', partitionMetadata, message: { key, value: null } });
}
