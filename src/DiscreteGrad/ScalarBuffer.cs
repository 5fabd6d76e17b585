using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad;

/// <summary>Scalar state buffers of the library's modules (node temperatures, the adaptive I-MLE target's state).</summary>
internal static class ScalarBuffer
{
    /// <summary>A float64 (or another dtype's) scalar tensor holding <paramref name="value"/>, outside any dispose scope.</summary>
    public static Tensor Create(double value, ScalarType dtype = ScalarType.Float64)
        => torch.tensor(value, dtype: dtype).DetachFromDisposeScope();

    /// <summary>The buffer's value as a double (one device synchronisation when it lives on an accelerator).</summary>
    public static double Read(Tensor buffer) => buffer.ToDouble();

    /// <summary>Overwrites the buffer's value in place (so the state_dict's tensor and the module's stay the same tensor).</summary>
    public static void Write(Tensor buffer, double value)
    {
        using var _ = torch.no_grad();
        buffer.fill_(value);
    }

    /// <summary>
    /// After a dtype conversion of the module: when <paramref name="current"/> is no longer of <paramref name="dtype"/>,
    /// replaces it by a tensor of that dtype on its device holding the value read before the conversion, registers it
    /// under <paramref name="name"/> and returns it; otherwise returns <paramref name="current"/>.
    /// </summary>
    public static Tensor Restore(Tensor current, double value, Action<string, Tensor> register, string name,
        ScalarType dtype = ScalarType.Float64)
    {
        if (current.dtype == dtype) return current;
        var fresh = torch.tensor(value, dtype: dtype, device: current.device).DetachFromDisposeScope();
        register(name, fresh);
        current.Dispose();
        return fresh;
    }
}
