"""Generic machinery: the contract, parameters, the model, its storage and the registry."""
