using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments;

/// <summary>How a run's summary names its device: "cpu", "cuda" or "cuda:N".</summary>
internal static class DeviceNames
{
    /// <summary>The name of <paramref name="device"/>.</summary>
    public static string Of(Device device) => device.type switch
    {
        DeviceType.CPU => "cpu",
        DeviceType.CUDA => device.index >= 0 ? $"cuda:{device.index}" : "cuda",
        _ => device.type.ToString().ToLowerInvariant(),
    };
}
