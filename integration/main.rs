//! Integration tests: the real rich-init binary against real processes, its Debian peers
//! (dumb-init, tini) and real runc containers. Run with `make test`.

mod harness;
mod runner;

mod differential;
mod exits;

mod compat_cli;
mod compat_jobctl;
mod compat_matrix;
mod compat_subreaper;
mod pty_rig;
mod reaping;
mod robustness;
mod rootfs;
mod runc;
mod runc_create;
mod signal_rig;
mod signals;
mod sweep;
mod tty;

mod compat_verbose;
mod in_runc;
mod lifecycle;

mod rich;
mod rich_boot;
mod rich_config;
mod rich_ctl;
mod rich_fdstore;
mod rich_handover;
mod rich_listen;
mod rich_options;
mod rich_parallel;
mod rich_runc;
mod rich_second;
mod rich_shutdown;
mod rich_supervise;
mod systemd_handover;
mod systemd_sockets;
mod systemd_units;

mod oci_hook;
mod oci_hooklog;
mod oci_hooksd;
mod oci_inject;
mod oci_lifecycle;
mod oci_readonly;
mod oci_rig;

mod images;
mod images_debian;
mod images_debian_units;

mod containerd;
mod containerd_smoke;
mod ctr_run;
mod ctrd_common;
mod leaks;
mod listen_client;
mod listen_image;
mod netns;

mod upgrade;
mod upgrade_fail;
mod upgrade_faults;
mod upgrade_image;
mod upgrade_listen;
mod upgrade_rich;
mod upgrade_rig;

mod walkthrough;

mod docker;
mod docker_rich;
mod docker_rig;
mod podman;
mod podman_ctr;
mod podman_findings;
mod podman_hooks;
mod podman_rich;
mod podman_rig;

mod layout;
mod security;
mod stress;
