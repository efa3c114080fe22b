//! AWS Lambda control-plane and Invoke wire protocol (REST-JSON) for wharf
