"""A faster record path for the projector's kafka-python consumer.

kafka-python parses every record of a fetched v2 record batch in pure Python through several
layers (``DefaultRecordBatch.__next__`` → ``_read_msg`` with a ``decode_varint`` call per field
and a property call per header field → a ``DefaultRecord`` → six property reads and two
deserializer calls → the ``ConsumerRecord``): ~4-5 us of the projector's ~25 us per event. The
projector takes its keys and values as bytes (no deserializers), so :func:`install` gives its
consumer a ``PartitionRecords`` whose v2 batches are parsed in one loop over the batch's bytes,
yielding the same ``ConsumerRecord`` tuples (same fields, same offsets, same fetch position and
metrics bookkeeping, the same ``CorruptRecordError`` for damaged records).

Everything else is kafka-python's own code: which batches are read, CRC checks, decompression,
transactions, aborted batches and control batches (``_unpack_records`` is the library's, with
only the per-record loop of a v2 batch replaced). :func:`install` changes nothing for a
kafka-python other than the versions this was checked against (``CHECKED_VERSIONS``), or for a
consumer with deserializers. ``tests/unit/projections/test_fastfetch.py`` compares the records
with kafka-python's for plain, keyless, header-carrying, compressed and damaged batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("ticketstream.projector")

# kafka-python versions whose Fetcher.PartitionRecords this was written against and tested with.
CHECKED_VERSIONS = frozenset({"3.0.12"})


def _records(part: Any, tp: Any, batch: Any) -> Iterator[Any]:
    """The records of a v2 ``batch`` (not a control batch) as kafka-python's loop yields them,
    with the same bookkeeping on ``part`` (its PartitionRecords)."""
    from kafka.consumer.fetcher import ConsumerRecord
    from kafka.errors import CorruptRecordError
    from kafka.record.util import decode_varint

    new_tuple = tuple.__new__
    batch._maybe_uncompress()
    # the batch as bytes (one copy a batch): a key's or value's slice is then one object — a
    # bytearray's was a memoryview slice and a bytes copy of it (~0.27 of ~1.8 us a record)
    buf = bytes(batch._buffer)
    end = len(buf)
    pos = batch._pos
    topic, partition, epoch = tp.topic, tp.partition, part.leader_epoch
    timestamp_type = batch.timestamp_type
    log_append = timestamp_type == batch.LOG_APPEND_TIME
    first_ts, max_ts, base = batch.first_timestamp, batch.max_timestamp, batch.base_offset
    for _ in range(batch._num_records - batch._next_record_index):
        try:
            # Record => Length Attributes TimestampDelta OffsetDelta Key Value [Header]
            # (zig-zag varints; one- and two-byte varints inline — a record's length, offset
            # delta, timestamp delta and value length often take two bytes —, longer ones by
            # the library, which raises the same errors for the same bytes)
            x = buf[pos]
            if x < 0x80:
                length, pos = (x >> 1) ^ -(x & 1), pos + 1
            elif (y := buf[pos + 1]) < 0x80:
                x = (x & 0x7F) | y << 7
                length, pos = (x >> 1) ^ -(x & 1), pos + 2
            else:
                length, pos = decode_varint(buf, pos)
            start = pos
            x = buf[pos]
            pos = pos + 1 if x < 0x80 else decode_varint(buf, pos)[1]  # attributes: unused
            x = buf[pos]
            if x < 0x80:
                ts_delta, pos = (x >> 1) ^ -(x & 1), pos + 1
            elif (y := buf[pos + 1]) < 0x80:
                x = (x & 0x7F) | y << 7
                ts_delta, pos = (x >> 1) ^ -(x & 1), pos + 2
            else:
                ts_delta, pos = decode_varint(buf, pos)
            x = buf[pos]
            if x < 0x80:
                off_delta, pos = (x >> 1) ^ -(x & 1), pos + 1
            elif (y := buf[pos + 1]) < 0x80:
                x = (x & 0x7F) | y << 7
                off_delta, pos = (x >> 1) ^ -(x & 1), pos + 2
            else:
                off_delta, pos = decode_varint(buf, pos)
            x = buf[pos]
            key_len, pos = ((x >> 1) ^ -(x & 1), pos + 1) if x < 0x80 else decode_varint(buf, pos)
            if key_len >= 0:
                key: bytes | None = buf[pos : pos + key_len]
                pos += key_len
            else:
                key = None
            x = buf[pos]
            if x < 0x80:
                value_len, pos = (x >> 1) ^ -(x & 1), pos + 1
            elif (y := buf[pos + 1]) < 0x80:
                x = (x & 0x7F) | y << 7
                value_len, pos = (x >> 1) ^ -(x & 1), pos + 2
            else:
                value_len, pos = decode_varint(buf, pos)
            if value_len >= 0:
                value: bytes | None = buf[pos : pos + value_len]
                pos += value_len
            else:
                value = None
            x = buf[pos]
            count, pos = ((x >> 1) ^ -(x & 1), pos + 1) if x < 0x80 else decode_varint(buf, pos)
            if count < 0:
                raise CorruptRecordError(f"Found invalid number of record headers {count}")
            headers: list[tuple[str, bytes | None]] = []
            while count:
                h_key_len, pos = decode_varint(buf, pos)
                if h_key_len < 0:
                    raise CorruptRecordError(f"Invalid negative header key size {h_key_len}")
                h_key = buf[pos : pos + h_key_len].decode("utf-8")
                pos += h_key_len
                h_value_len, pos = decode_varint(buf, pos)
                if h_value_len >= 0:
                    h_value: bytes | None = buf[pos : pos + h_value_len]
                    pos += h_value_len
                else:
                    h_value = None
                headers.append((h_key, h_value))
                count -= 1
            if pos - start != length:
                raise CorruptRecordError(
                    f"Invalid record size: expected to read {length} bytes in record payload, "
                    f"but instead read {pos - start}"
                )
        except (ValueError, IndexError) as err:
            if isinstance(err, IndexError) and str(err) == "index out of range":
                err = IndexError("bytearray index out of range")  # the library's words (its buffer)
            raise CorruptRecordError(f"Found invalid record structure: {err!r}") from err
        batch._pos = pos
        batch._next_record_index += 1
        offset = base + off_delta
        if headers:
            header_size = sum(
                len(k.encode("utf-8")) + (len(v) if v is not None else 0) for k, v in headers
            )
        else:
            header_size = -1
        part.records_read += 1
        part.bytes_read += length
        part.next_fetch_offset = offset + 1
        # the namedtuple from its fields' tuple (its generated __new__ does just this, in a
        # Python call of its own: ~0.15 us a record)
        yield new_tuple(ConsumerRecord, (
            topic, partition, epoch, offset, max_ts if log_append else first_ts + ts_delta,
            timestamp_type, key, value, headers, None,
            len(key) if key is not None else -1, len(value) if value is not None else -1,
            header_size,
        ))  # fmt: skip
    if pos != end:
        raise CorruptRecordError(f"{end - pos} unconsumed bytes after all records consumed")


def _legacy_records(part: Any, tp: Any, batch: Any) -> Iterator[Any]:
    """kafka-python's own loop, for a message-format v0/v1 batch (no deserializers)."""
    from kafka.consumer.fetcher import ConsumerRecord
    from kafka.errors import CorruptRecordError

    for record in batch:
        if part.check_crcs and not record.validate_crc():
            raise CorruptRecordError(
                f"Record for partition {part.topic_partition} at offset {record.offset} "
                "failed crc check"
            )
        key, value, headers = record.key, record.value, record.headers
        header_size = (
            sum(len(k.encode("utf-8")) + (len(v) if v is not None else 0) for k, v in headers)
            if headers
            else -1
        )
        part.records_read += 1
        part.bytes_read += record.size_in_bytes
        part.next_fetch_offset = record.offset + 1
        yield ConsumerRecord(
            tp.topic, tp.partition, part.leader_epoch, record.offset, record.timestamp,
            record.timestamp_type, key, value, headers, record.checksum,
            len(key) if key is not None else -1, len(value) if value is not None else -1,
            header_size,
        )  # fmt: skip


def _partition_records_class() -> type:
    from kafka.consumer.fetcher import Fetcher, IsolationLevel
    from kafka.errors import CorruptRecordError

    base: Any = Fetcher.PartitionRecords

    class FastPartitionRecords(base):  # type: ignore[misc]
        """kafka-python's PartitionRecords (3.0.12) with a v2 batch's records parsed by
        ``_records``; the rest of ``_unpack_records`` is the library's, unchanged."""

        def _unpack_records(
            self, tp: Any, records: Any, key_deserializer: Any, value_deserializer: Any
        ) -> Iterator[Any]:
            if key_deserializer is not None or value_deserializer is not None:
                yield from base._unpack_records(
                    self, tp, records, key_deserializer, value_deserializer
                )
                return
            try:
                batch = records.next_batch()
                last_batch = None
                while batch is not None:
                    last_batch = batch
                    if self.check_crcs and not batch.validate_crc():
                        raise CorruptRecordError(
                            f"Record batch for partition {self.topic_partition} at offset "
                            f"{batch.base_offset} failed crc check"
                        )
                    if batch.magic == 2:
                        self.leader_epoch = batch.leader_epoch
                        if (
                            self.isolation_level == IsolationLevel.READ_COMMITTED
                            and batch.has_producer_id()
                        ):
                            self._consume_aborted_transactions_up_to(batch.last_offset)
                            producer_id = batch.producer_id
                            if self._contains_abort_marker(batch):
                                self.aborted_producer_ids.discard(producer_id)
                            elif self._is_batch_aborted(batch):
                                self.next_fetch_offset = batch.next_offset
                                batch = records.next_batch()
                                continue
                        if batch.is_control_batch:
                            self.next_fetch_offset = batch.next_offset
                            batch = records.next_batch()
                            continue
                        yield from _records(self, tp, batch)
                    else:
                        yield from _legacy_records(self, tp, batch)
                    batch = records.next_batch()
                else:
                    # as the library: the next fetch starts after the last batch's last offset
                    if last_batch and last_batch.magic == 2:
                        self.next_fetch_offset = last_batch.next_offset
                    self.drain()
            except StopIteration as exc:
                log.exception("StopIteration raised unpacking messageset")
                raise RuntimeError("StopIteration raised unpacking messageset") from exc

    return FastPartitionRecords


def install(consumer: Any) -> bool:
    """Give ``consumer`` (a KafkaConsumer without deserializers) the fast record path. Returns
    False, changing nothing, for an unchecked kafka-python version."""
    import kafka

    if kafka.__version__ not in CHECKED_VERSIONS:
        log.info("kafka-python %s: the projector keeps its record parsing", kafka.__version__)
        return False
    consumer._fetcher.PartitionRecords = _partition_records_class()
    return True
