using System.Runtime.CompilerServices;

// The tests compare the two-class specialisation with the general estimators and the conditional-draw formulas with
// their reference forms; the benchmarks time the general paths against the specialised ones.
[assembly: InternalsVisibleTo("DiscreteGrad.Tests")]
[assembly: InternalsVisibleTo("DiscreteGrad.Bench")]
