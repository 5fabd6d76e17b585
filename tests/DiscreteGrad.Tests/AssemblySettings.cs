namespace DiscreteGrad.Tests;

/// <summary>
/// The test classes that build modules or draw from TorchSharp's one global generator (module initialisation, seeded
/// tasks) share this collection and run one after another, so that no draw interleaves with a seeded construction in
/// another class. Every other class (data, formats, the build step, the command-line processes, samplers with explicit
/// generators) runs in parallel with them and with each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GlobalGenerator
{
    /// <summary>The collection's name.</summary>
    public const string Name = "global generator";
}
