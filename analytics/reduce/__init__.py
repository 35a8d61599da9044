"""The reduce stage: from events (and calls) to the tables the app works on.

The heavy part of CX Radar is a reduce over every event: each case's path, duration,
contacts, channels, cost and behaviour tags; the variants and the directly-follows graph;
the per-interval load and service level of the calls; the churn-risk model's per-customer
features at its snapshot cut-offs. This package computes those tables
with one of three engines, all giving the same tables (:mod:`analytics.reduce.tables`
defines them):

* ``polars`` (the default, embedded): the in-memory functions of
  :mod:`analytics.cases`, :mod:`analytics.process`, :mod:`analytics.cost` and
  :mod:`analytics.calls`, on a dataset loaded whole (:func:`tables.reduce_dataset`);
* ``polars`` in parts (:mod:`analytics.reduce.partitioned`): cases split by a hash of
  ``case_id`` into parts, each reduced in memory, the results combined; for logs larger
  than memory on one machine;
* ``spark`` (:mod:`analytics.reduce.spark`): the same tables as a Spark job, for a
  company whose events live in a lake and outgrow one machine.

What an engine writes (:mod:`analytics.reduce.layout`) is a folder that opens as a
dataset: the canonical tables as Parquet files the loader reads, plus ``reduced/`` with
the derived tables and a manifest that ties them to those files.
"""
