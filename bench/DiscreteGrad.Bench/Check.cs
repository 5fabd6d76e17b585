using System.Runtime.InteropServices;
using System.Security.Cryptography;
using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>
/// Bit-exact fingerprints of every estimator's outputs and gradient for fixed seeds, to show that a performance change
/// leaves the results unchanged: run <c>check</c> before and after, and diff the output.
/// </summary>
public static class Check
{
    public static void Run()
    {
        // aminmax as a finite check: NaN and +-inf must show in the min or the max.
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        foreach (long at in new long[] { 0, 7, 65535 })
        {
            using var scope0 = torch.NewDisposeScope();
            var t = torch.randn(512, 128, 2);
            t.view(-1)[at] = bad;
            var (mn, mx) = torch.aminmax(t);
            bool finite = float.IsFinite(mn.item<float>()) && float.IsFinite(mx.item<float>());
            Console.WriteLine($"aminmax check with {bad} at {at}: {(finite ? "MISSED" : "caught")}; isfinite.all: {torch.isfinite(t).all().item<bool>()}");
        }
        // Guard.Finite (now aminmax-based) on every floating dtype, and on an empty tensor.
        foreach (var dt in new[] { ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float32, ScalarType.Float64 })
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0 })
        {
            using var scope0 = torch.NewDisposeScope();
            var t = torch.randn(100, 30, 10).to(dt);
            t.view(-1)[1234] = torch.tensor(bad).to(dt);
            bool threw = false;
            try { Guard.Finite(t, "t"); } catch (ArgumentException) { threw = true; }
            Console.WriteLine($"Guard.Finite {dt} with {bad}: {(threw ? "throws" : "passes")} (expected {(double.IsFinite(bad) ? "passes" : "throws")})");
        }
        Guard.Finite(torch.empty(0, 10), "empty");
        Console.WriteLine("Guard.Finite on an empty tensor: passes");

        foreach (double tau in new[] { 1.0, 0.5 })
        foreach (var shape in Shape.All)
        foreach (var kind in Enum.GetValues<EstimatorKind>())
        {
            using var scope = torch.NewDisposeScope();
            using var w = new Workload(shape, tau, 20);
            var s = Categorical.Sample(w.Logits, kind, w.Options, generator: w.Generator);
            (s.Value * w.W).sum().backward();
            string gradOnlyValue = Hash(w.Logits.grad!);
            Console.WriteLine($"Sample {kind} {shape} tau={tau}: value {Hash(s.Value)} hard {Hash(s.Hard)} probs {Hash(s.Probs)} logprobs {Hash(s.LogProbs)} grad {gradOnlyValue}");

            // The same draw with every output in the loss (Probs with weight 0 for ReinMax: a defined zero gradient must
            // give the same result as an unused output).
            using var w2 = new Workload(shape, tau, 20);
            var s2 = Categorical.Sample(w2.Logits, kind, w2.Options, generator: w2.Generator);
            ((s2.Value * w2.W).sum() + (s2.Probs * 0.0).sum()).backward();
            Console.WriteLine($"  with zero-weighted Probs in the loss: grad {(Hash(w2.Logits.grad!) == gradOnlyValue ? "identical" : "DIFFERENT " + Hash(w2.Logits.grad!))}");

            using var w3 = new Workload(shape, tau, 20);
            var o = w3.Options;
            Tensor f = kind switch
            {
                EstimatorKind.GumbelSoftmax => discrete.functional.gumbel_softmax(w3.Logits, o.Tau, false, beta: o.Beta, generator: w3.Generator),
                EstimatorKind.StraightThroughGumbel => discrete.functional.gumbel_softmax(w3.Logits, o.Tau, true, beta: o.Beta, generator: w3.Generator),
                EstimatorKind.StraightThrough => discrete.functional.straight_through(w3.Logits, o.Tau, generator: w3.Generator),
                EstimatorKind.ReinMax => discrete.functional.reinmax(w3.Logits, o.Tau, generator: w3.Generator).y_hard,
                EstimatorKind.GappedStraightThrough => discrete.functional.gapped_straight_through(w3.Logits, o.Tau, o.Gap, generator: w3.Generator),
                EstimatorKind.GumbelRao => discrete.functional.gumbel_rao(w3.Logits, o.Tau, o.GumbelRaoK, generator: w3.Generator),
                EstimatorKind.Zgr => discrete.functional.zgr(w3.Logits, generator: w3.Generator),
                EstimatorKind.DecoupledStraightThroughGumbel => discrete.functional.decoupled_gumbel_softmax(w3.Logits, o.TauForward, o.Tau, true, beta: o.Beta, generator: w3.Generator),
                EstimatorKind.DecoupledGumbelSoftmax => discrete.functional.decoupled_gumbel_softmax(w3.Logits, o.TauForward, o.Tau, false, beta: o.Beta, generator: w3.Generator),
                _ => throw new InvalidOperationException(),
            };
            (f * w3.W).sum().backward();
            Console.WriteLine($"  discrete.functional: value {Hash(f)} grad {Hash(w3.Logits.grad!)}");
        }
    }

    private static string Hash(Tensor t)
    {
        var a = t.detach().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        return Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(a.AsSpan())))[..16];
    }
}
