//! Getting built images to where they run. `registry_push`: an OCI layout pushed to a
//! registry through its HTTP API v2, sending only the blobs it lacks. `docker_load`: a
//! layout sent to a host's `docker load` over its transport, sending only the layers the
//! host lacks.

pub mod docker_load;
pub mod registry_push;
