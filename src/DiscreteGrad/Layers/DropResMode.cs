namespace DiscreteGrad.Layers;

/// <summary>How DROPRES (Friede and Niepert 2021) draws the coin that drops the residual connection.</summary>
public enum DropResMode
{
    /// <summary>No residual connection: v = h(z).</summary>
    None,
    /// <summary>One coin per forward call for the whole batch (as the reference implementation).</summary>
    PerBatch,
    /// <summary>One coin per example.</summary>
    PerExample,
}
