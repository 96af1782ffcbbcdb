//! Getting built images to where they run. `registry_push`: an OCI layout pushed to a
//! registry through its HTTP API v2, sending only the blobs it lacks.

pub mod registry_push;
