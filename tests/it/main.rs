//! End-to-end tests of the `cairn` binary. Each module documents one area of behaviour;
//! `support` holds the fluent harness they share.

mod app_cluster;
mod apply_docker;
mod apply_local;
mod apply_ssh;
mod apply_systemd;
mod commands;
mod compile_errors;
mod determinism;
mod keeper;
mod lockfile_integrity;
mod merkle_ids;
mod mysql_replication;
mod namespace_container;
mod network_namespaces;
mod platform_modules;
mod quickstart;
mod real_programs;
mod review_regressions;
mod secrets;
mod selection;
mod spec_reference;
mod ssh_fixture;
mod support;
mod systemd_host;
mod transport_regressions;
mod zookeeper_ensemble;
