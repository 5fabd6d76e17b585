namespace DiscreteGrad.Layers;

/// <summary>What a discrete node returns in eval mode (<c>module.eval()</c>).</summary>
public enum EvalSampling
{
    /// <summary>The most probable category (one_hot(argmax(theta))), deterministic.</summary>
    Argmax,
    /// <summary>A hard sample D ~ Cat(softmax(theta)) from the node's generator.</summary>
    Sample,
}
