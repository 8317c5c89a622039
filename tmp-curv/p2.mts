import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
await tf.setBackend('cpu');
console.log(!!tf.getGradient('Sum'), !!tf.getGradient('Tanh'), !!tf.getGradient('Conv2D'));
const x = tf.scalar(2);
console.log(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, a)))(x).dataSync());
