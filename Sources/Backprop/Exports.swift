// One `import Backprop` brings the numerics too.
@_exported import BackpropCore
