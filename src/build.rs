//! `cnb build` orchestration (SPEC §6, §7): settings -> resolution -> images in the
//! daemon -> builder metadata -> the lifecycle container -> exit status.
