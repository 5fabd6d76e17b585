using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>Shared pieces of the perturb-and-MAP layers: argument checks, noise, solver calls.</summary>
internal static class PerturbAndMap
{
    /// <summary>theta: floating point, [B, ...] with B &gt;= 1, finite (when <see cref="Guard.CheckFiniteLogits"/>).</summary>
    public static void CheckTheta(Tensor theta)
    {
        ArgumentNullException.ThrowIfNull(theta, nameof(theta));
        if (!theta.is_floating_point())
            throw new ArgumentException($"theta must be a floating-point tensor (got {theta.dtype}).", nameof(theta));
        if (theta.dim() < 1 || theta.shape[0] < 1)
            throw new ArgumentException($"theta must have shape [B, ...] with B >= 1 (got {BatchArrays.Shape(theta)}).", nameof(theta));
        Guard.Finite(theta, nameof(theta));
    }

    /// <summary>Shape [B*S, ...] of the stacked samples of theta [B, ...].</summary>
    public static long[] StackedShape(Tensor theta, int samples)
    {
        var shape = theta.shape.ToArray();
        shape[0] *= samples;
        return shape;
    }

    /// <summary>
    /// Unscaled noise eps [B*S, ...]: the pinned tensor (checked for shape, floating point and, when
    /// <see cref="Guard.CheckFiniteLogits"/>, finite; converted to theta's dtype and device) or a fresh draw.
    /// </summary>
    public static Tensor Noise(Tensor theta, int samples, ImleNoise noise, Generator? generator, Tensor? pinned)
    {
        var shape = StackedShape(theta, samples);
        if (pinned is null) return noise.Sample(shape, generator, theta.dtype, theta.device);
        if (!pinned.shape.SequenceEqual(shape))
            throw new ArgumentException(
                $"noise must have the stacked shape [B*S, ...] = [{string.Join(", ", shape)}] (got {BatchArrays.Shape(pinned)}).", "noise");
        if (!pinned.is_floating_point())
            throw new ArgumentException($"noise must be a floating-point tensor (got {pinned.dtype}).", "noise");
        Guard.Finite(pinned, "noise");
        return pinned.detach().to(theta.dtype, theta.device);
    }

    /// <summary>theta [B, ...] repeated to [B*S, ...] (row b*S + s holds theta_b).</summary>
    public static Tensor Repeat(Tensor theta, int samples) => samples == 1 ? theta : theta.repeat_interleave(samples, 0);

    /// <summary>
    /// Calls the solver without autograd and checks that it kept the shape and (when <see cref="Guard.CheckFiniteLogits"/>,
    /// for solvers other than the library's own, whose 0/1 output cannot hold NaN) returned finite values, so that a
    /// solver's NaN cannot flow into the gradient unreported; the result has weights' dtype and device. In the forward pass the <see cref="NonFiniteValueException"/> (ParamName "solver") reaches the
    /// caller; in the backward pass TorchSharp cannot carry a managed exception back through libtorch's autograd engine,
    /// so it ends the process with that message (as a solver's own exception there does) instead of a silent NaN gradient.
    /// </summary>
    public static Tensor Solve(IMapSolver solver, Tensor weights)
    {
        using var _ = torch.no_grad();
        var z = solver.Solve(weights);
        if (z is null)
            throw new InvalidOperationException($"{solver.GetType().Name}.Solve returned null.");
        if (!z.shape.SequenceEqual(weights.shape))
            throw new InvalidOperationException(
                $"{solver.GetType().Name}.Solve must return the shape of its input {BatchArrays.Shape(weights)} (got {BatchArrays.Shape(z)}).");
        if (Guard.CheckFiniteLogits && !WritesZeroOne(solver) && z.is_floating_point() && !double.IsFinite(Guard.MaxAbs(z)))
        {
            string input = double.IsFinite(Guard.MaxAbs(weights))
                ? "for finite weights"
                : "for weights that hold NaN or infinity themselves (in the backward pass: the upstream gradient is not finite)";
            throw new NonFiniteValueException(
                $"{solver.GetType().Name}.Solve returned NaN or infinity {input}; a MAP solver must return finite (0/1) solutions.", nameof(solver));
        }
        return z.detach().to(weights.dtype, weights.device);
    }

    /// <summary>
    /// The library's own solvers (sealed) build their solutions from 0/1 arrays or a scatter of ones, so their output needs no
    /// finite scan (one reduction per solver call saved).
    /// </summary>
    private static bool WritesZeroOne(IMapSolver solver)
        => solver is TopKSolver or TensorTopKSolver or GridShortestPathSolver or MaximumSpanningTreeSolver;

    /// <summary>[B*S, ...] to [B, S, ...].</summary>
    public static Tensor Split(Tensor stacked, long batch, int samples)
    {
        var shape = new long[stacked.dim() + 1];
        shape[0] = batch;
        shape[1] = samples;
        for (int i = 1; i < stacked.dim(); i++) shape[i + 1] = stacked.shape[i];
        return stacked.reshape(shape);
    }

    /// <summary>The output of the layer for the chosen layout: z itself (stacked) or its mean over samples.</summary>
    public static Tensor Output(Tensor z, long batch, int samples, SampleLayout layout)
        => layout == SampleLayout.Mean ? Split(z, batch, samples).mean(new long[] { 1 }) : z.clone();

    /// <summary>The per-sample upstream gradient [B*S, ...] from the gradient of the output.</summary>
    public static Tensor PerSample(Tensor gradOutput, int samples, SampleLayout layout)
        => layout == SampleLayout.Mean ? Repeat(gradOutput, samples) : gradOutput;
}

/// <summary>What a perturb-and-MAP layer does in the backward pass, given what its forward pass saved.</summary>
internal interface IPerturbAndMapBackward
{
    /// <summary>Gradient for theta [B, ...] from theta, the unscaled noise eps [B*S, ...], the forward pass's solver input
    /// theta_rep + T_in eps [B*S, ...], the forward solutions z [B*S, ...] and the per-sample upstream gradient dz [B*S, ...].</summary>
    Tensor Backward(Tensor theta, Tensor noise, Tensor weights, Tensor z, Tensor dz);
}

/// <summary>
/// The autograd function of the perturb-and-MAP layers. Inputs (theta [B, ...], eps [B*S, ...], inputTemperature, samples,
/// layout, backward rule); output z [B*S, ...] or its mean [B, ...]. The forward pass saves theta, eps, its solver input
/// theta_rep + T_in eps and z, so the backward pass perturbs with exactly the forward pass's noise (and need not rebuild
/// theta_rep + T eps when its temperature is T_in).
/// </summary>
internal sealed class PerturbAndMapFunction : torch.autograd.MultiTensorFunction<PerturbAndMapFunction>
{
    public override string Name => "PerturbAndMap";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var theta = ((Tensor)vars[0]).detach();
        var noise = (Tensor)vars[1];
        var temperature = (double)vars[2];
        var samples = (int)vars[3];
        var layout = (SampleLayout)vars[4];
        var solver = (IMapSolver)vars[5];
        var rule = (IPerturbAndMapBackward)vars[6];
        Tensor z, weights;
        using (torch.no_grad())
        {
            using var scope = torch.NewDisposeScope();
            var w = PerturbAndMap.Repeat(theta, samples);
            if (temperature != 0) w = torch.add(w, noise, alpha: temperature);
            z = scope.MoveToOuter(PerturbAndMap.Solve(solver, w));
            weights = ReferenceEquals(w, theta) ? theta : scope.MoveToOuter(w);
        }
        ctx.save_for_backward(new List<Tensor> { theta, noise, weights, z });
        ctx.save_data("samples", samples);
        ctx.save_data("layout", layout);
        ctx.save_data("rule", rule);
        // An unused output gets a null gradient instead of zeros_like(output), which would touch a possibly disposed output.
        ctx.set_materialize_grads(false);
        return new List<Tensor> { PerturbAndMap.Output(z, theta.shape[0], samples, layout) };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var nulls = new List<Tensor> { null!, null!, null!, null!, null!, null!, null! };
        Tensor? g = gradOutputs.Count > 0 && gradOutputs[0] is { IsInvalid: false } a ? a : null;
        if (g is null) return nulls;
        var saved = ctx.get_saved_variables();
        var samples = (int)ctx.get_data("samples");
        var layout = (SampleLayout)ctx.get_data("layout");
        var rule = (IPerturbAndMapBackward)ctx.get_data("rule");
        Tensor grad;
        using (torch.no_grad())
        {
            using var scope = torch.NewDisposeScope();
            var dz = PerturbAndMap.PerSample(g, samples, layout);
            grad = scope.MoveToOuter(rule.Backward(saved[0], saved[1], saved[2], saved[3], dz));
        }
        nulls[0] = grad;
        return nulls;
    }
}
