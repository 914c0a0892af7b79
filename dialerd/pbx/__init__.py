"""PBX adapters: the AMI client and its correlation, the AMI simulator, FastAGI."""
